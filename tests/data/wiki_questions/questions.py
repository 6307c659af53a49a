"""Hand-written questions about KLUE NLI dev premises drawn from Korean Wikipedia (source `wikipedia`),
each with the index of the premise that answers it among the 150 such premises in file order.
`python3 questions.py ../../../../shared/data/klue_nli OUT` writes a BEIR set: the corpus is every KLUE NLI
premise (dev and train, as scripts/nli_claim_beir.py), the queries these questions.
"""
import json, os, sys

QUESTIONS = [
    ("병자호란 때 인조가 피난한 곳은 어디야?", 0),
    ("매리 카사트가 파리 살롱에 작품을 못 낸 해는?", 1),
    ("1997년 현대 유니콘스는 정규 시즌을 몇 위로 마쳤나요?", 6),
    ("뤼스티제는 왜 파리 대교구장에서 물러났나?", 7),
    ("여왕벌은 언제부터 알을 낳지 않나요?", 10),
    ("묠니르를 훔친 거인은 무엇을 요구했어?", 12),
    ("동물들이 겨울잠을 자는 이유는 무엇인가요?", 13),
    ("겨울잠 자는 동안 동물의 체온은 어떻게 변하나요?", 36),
    ("바그너가 아들 이름을 지크프리트로 지은 이유는?", 19),
    ("와트의 증기기관 특허에 볼턴은 어떤 반응을 보였나?", 21),
    ("오즈 야스지로의 마지막 감독 작품은 무엇인가?", 26),
    ("원자로에서 냉각재는 어떤 역할을 하나요?", 27),
    ("오토바이 라이더들이 주로 쓰는 헬멧 종류는?", 32),
    ("을사늑약은 언제 체결되었나요?", 33),
    ("전쟁 후 도이치은행은 몇 개의 은행으로 쪼개졌나?", 35),
    ("마이클 잭슨은 그래미에서 상을 몇 개 받았나요?", 38),
    ("라미 볼펜에 다른 회사 리필심을 쓸 수 있나요?", 40),
    ("스타벅스가 매년 2천만 달러를 아낀 방법은?", 41),
    ("모링가는 어떤 부분을 먹을 수 있어?", 48),
    ("미다스의 당나귀 귀 이야기가 처음 나오는 작품은?", 51),
    ("병조림을 처음 발명한 사람은 누구인가요?", 55),
    ("스칸디나비아반도는 어디에 있나요?", 64),
    ("신자유주의가 노동시장에 끼치는 영향은?", 69),
    ("십상시는 누구에게 죽임을 당했나?", 70),
    ("여주대학교는 처음에 어떤 이름으로 문을 열었나요?", 83),
    ("영국에서 처음으로 연립내각이 생긴 계기는?", 87),
    ("오웬은 아동 노동의 시작 나이를 몇 살로 올렸나?", 91),
    ("올림픽 야구에 여자 종목도 있나요?", 92),
    ("의주남문은 북한 보물 몇 호인가?", 98),
    ("잉글랜드가 아메리카에 처음 세운 식민지는 어디인가?", 100),
    ("본자란 무엇을 가리키는 말인가요?", 102),
    ("자유 소프트웨어 운동은 언제 시작됐어?", 110),
    ("장미 전쟁은 어떻게 끝났나요?", 111),
    ("점균류가 식물로 분류된 이유는 뭐야?", 114),
    ("크누트는 어떤 동물이고 어디서 태어났나요?", 129),
    ("통사론은 무엇을 연구하는 학문인가요?", 130),
    ("아가멤논이 딸을 제물로 바친 이유는?", 131),
    ("프레쉬필즈는 언제 설립된 로펌인가요?", 138),
    ("우리나라 자동차 운전석은 어느 쪽에 있나요?", 143),
    ("향가는 어느 시대 문학을 대표하나요?", 148),
    ("예전에는 치즈를 어떻게 포장해서 팔았나요?", 106),
    ("유신 체제를 박정희 정권은 어떻게 선전했나?", 53),
    ("처음으로 외국에서 교육받은 이란 왕위계승 후보는 어느 나라에서 지냈나?", 17),
    ("캐치 애즈 캐치 캔 레슬링은 어느 나라에서 발달했나?", 88),
]

if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "scripts"))
    import nli_claim_beir

    src, out = sys.argv[1:3]
    dev, docs = nli_claim_beir.read(src)
    wiki = []
    for r in dev:
        p = r["premise"].strip()
        if r["source"] == "wikipedia" and p not in wiki:
            wiki.append(p)
    nli_claim_beir.write_corpus(docs, out)
    with open(os.path.join(out, "queries.jsonl"), "w", encoding="utf-8") as q, \
         open(os.path.join(out, "qrels.tsv"), "w", encoding="utf-8") as g:
        g.write("query-id\tcorpus-id\tscore\n")
        for n, (text, k) in enumerate(QUESTIONS):
            q.write(json.dumps({"_id": f"w{n}", "text": text}, ensure_ascii=False) + "\n")
            g.write(f"w{n}\t{docs[wiki[k]]}\t1\n")
    print(f"{len(docs)} premises, {len(QUESTIONS)} questions -> {out}", file=sys.stderr)
