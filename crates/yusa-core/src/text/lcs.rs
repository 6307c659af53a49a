//! Longest common subsequence lengths, shared by the diff a flagged pair explains itself with
//! (characters) and the brackets a pair model reads (words).

/// `t[i][j]` = the LCS length of `a[i..]` and `b[j..]`; walk it from `(0, 0)`, taking equal items and
/// otherwise the side whose step keeps the larger length. Callers bound `a.len() * b.len()`: the table
/// is quadratic, and lengths are `u16`.
pub fn suffix_table<T: PartialEq>(a: &[T], b: &[T]) -> Vec<Vec<u16>> {
    let (n, m) = (a.len(), b.len());
    let mut t = vec![vec![0u16; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if a[i] == b[j] {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    t
}

#[cfg(test)]
mod tests {
    #[test]
    fn lengths_of_common_subsequences() {
        let a: Vec<char> = "더워서".chars().collect();
        let b: Vec<char> = "추워서".chars().collect();
        assert_eq!(super::suffix_table(&a, &b)[0][0], 2);
        assert_eq!(super::suffix_table::<char>(&[], &b)[0][0], 0);
    }
}
