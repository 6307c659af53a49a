"""Union-find over hashable keys, shared by the split scripts (groups of pairs that share a sentence)."""


class UnionFind:
    def __init__(self):
        self.parent = {}

    def find(self, x):
        parent = self.parent
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a, b):
        """Links a's group under b's root (the scripts' splits depend on this order: keep it)."""
        self.parent[self.find(a)] = self.find(b)
