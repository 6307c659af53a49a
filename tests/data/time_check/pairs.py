"""A check set for the time finding (docs/results/2026-12-07-antonym-finding-with-the-duplicate-model.md):
40 pairs written by hand on 2026-12-07, after the rule's list of named times was fixed and before any model
or rule was read on them. 20 look-alikes that differ only in when (half name a day, week, month or year —
the times the rule knows —, half say it in ways it does not know: parts of the day, weekdays, seasons,
tense), and 20 paraphrases that name a time, often spelled another way (지난주 / 저번 주, 작년 / 지난해).
`python3 pairs.py` writes checks.jsonl (sentence1, sentence2, label 1 = same meaning, kind)."""
import json
import os

PAIRS = [
    # Different times: never duplicates.
    ("time_named", "어제 택배 받았어요", "내일 택배 받아요"),
    ("time_named", "오늘 회의 취소됐대", "내일 회의 취소됐대"),
    ("time_named", "지난주에 이사했어", "다음 주에 이사해"),
    ("time_named", "작년에 퇴사했어요", "내년에 퇴사할 거예요"),
    ("time_named", "이번 달 월급 들어왔어", "지난달 월급 들어왔어"),
    ("time_named", "모레 병원 가야 돼", "어제 병원 갔다 왔어"),
    ("time_named", "오늘 저녁에 친구 만나", "어제 저녁에 친구 만났어"),
    ("time_named", "올해는 꼭 금연할 거야", "작년에 금연했어"),
    ("time_named", "다음 달부터 요금이 올라요", "이번 달부터 요금이 올랐어요"),
    ("time_named", "그저께 헤어졌어", "내일 헤어질 거야"),
    ("time_other", "아침에 동네 한 바퀴 걸었어", "밤에 동네 한 바퀴 걸었어"),
    ("time_other", "주말에 영화 봤어", "평일에 영화 봤어"),
    ("time_other", "방금 도착했어", "이따가 도착해"),
    ("time_other", "시험 다 봤어", "시험 볼 예정이야"),
    ("time_other", "점심 먹었어?", "저녁 먹었어?"),
    ("time_other", "출근 전에 운동해", "퇴근 후에 운동해"),
    ("time_other", "새벽에 배송 왔어요", "오후에 배송 왔어요"),
    ("time_other", "방학 전에 여행 가고 싶어", "방학 끝나고 여행 가고 싶어"),
    ("time_other", "월요일에 면접 봐", "금요일에 면접 봐"),
    ("time_other", "봄에 결혼해", "가을에 결혼해"),
    # The same time, said another way: duplicates.
    ("paraphrase_time", "어제 택배 받았어요", "택배 어제 도착했어요"),
    ("paraphrase_time", "오늘 회의 취소됐대", "금일 회의는 취소되었습니다"),
    ("paraphrase_time", "지난주에 이사했어", "저번 주에 이사 마쳤어"),
    ("paraphrase_time", "내일 비 온대", "내일 비 소식 있대"),
    ("paraphrase_time", "작년에 퇴사했어요", "지난해에 회사를 그만뒀어요"),
    ("paraphrase_time", "다음 주에 시험이야", "담주에 시험 있어"),
    ("paraphrase_time", "올해 목표는 다이어트야", "금년 목표는 살 빼기야"),
    ("paraphrase_time", "이번 달 카드값이 너무 많이 나왔어", "이번달 카드 요금 폭탄 맞았어"),
    ("paraphrase_time", "어제 잠을 한숨도 못 잤어", "어젯밤에 한숨도 못 잤어"),
    ("paraphrase_time", "내일모레 생일이야", "모레가 내 생일이야"),
    ("paraphrase_time", "오늘 유난히 피곤하네", "진짜 피곤한 하루다"),
    ("paraphrase_time", "다음 달에 이직해요", "다음달에 회사 옮겨요"),
    ("paraphrase_time", "지난달 전기요금이 많이 나왔어", "저번 달 전기세 폭탄이야"),
    ("paraphrase_time", "내년에 유학 가요", "내년에 유학을 떠나요"),
    ("paraphrase_time", "그제 친구랑 싸웠어", "그저께 친구하고 다퉜어"),
    ("paraphrase_time", "오늘 점심 뭐 먹지", "오늘 점심 메뉴 추천해줘"),
    ("paraphrase_time", "어제 산 옷이 너무 작아", "어제 구매한 옷이 사이즈가 작네"),
    ("paraphrase_time", "이번 주말에 뭐 할까", "이번주 주말에 뭐 하지"),
    ("paraphrase_time", "올해도 다 갔네", "올 한 해도 끝나가네"),
    ("paraphrase_time", "내일 아침 일찍 일어나야 해", "내일은 아침 일찍 기상해야 돼"),
]

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "checks.jsonl"), "w", encoding="utf-8") as f:
        for kind, a, b in PAIRS:
            row = {"sentence1": a, "sentence2": b, "label": int(kind.startswith("paraphrase")), "kind": kind}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
