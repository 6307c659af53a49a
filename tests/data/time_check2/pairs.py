"""time_check2: 40 Korean sentence pairs written by hand on 2026-12-07 (the sixteenth session), before
any rule for weekdays, parts of the day or seasons existed: 20 look-alikes that differ only in such a time
(not duplicates) and 20 paraphrases that keep their time, some said another way (duplicates).
`python3 pairs.py` writes `checks.jsonl` beside it, as the other pair sets do."""
import json, os

LOOKALIKES = [
    ("weekday", "월요일에 회의 있어", "금요일에 회의 있어"),
    ("weekday", "화요일마다 수영 다녀요", "목요일마다 수영 다녀요"),
    ("weekday", "토요일에 택배 오나요?", "일요일에 택배 오나요?"),
    ("weekday", "수요일 저녁에 친구 만나기로 했어", "토요일 저녁에 친구 만나기로 했어"),
    ("weekday", "주말에 영업하나요?", "평일에 영업하나요?"),
    ("weekday", "금요일에 월급 들어와", "월요일에 월급 들어와"),
    ("weekday", "일요일에도 병원 문 여나요", "수요일에도 병원 문 여나요"),
    ("part_of_day", "아침에 운동하는 게 좋을까", "저녁에 운동하는 게 좋을까"),
    ("part_of_day", "새벽에 자꾸 깨", "아침에 자꾸 깨"),
    ("part_of_day", "점심 먹고 나면 졸려", "저녁 먹고 나면 졸려"),
    ("part_of_day", "아침마다 머리가 아파요", "밤마다 머리가 아파요"),
    ("part_of_day", "저녁에 커피 마시면 잠이 안 와", "아침에 커피 마시면 잠이 안 와"),
    ("part_of_day", "새벽 배송 되나요?", "저녁 배송 되나요?"),
    ("part_of_day", "점심시간에 은행 가도 돼?", "저녁 시간에 은행 가도 돼?"),
    ("season", "여름에 제주도 가려고", "겨울에 제주도 가려고"),
    ("season", "가을 옷 정리해야겠다", "여름 옷 정리해야겠다"),
    ("season", "겨울만 되면 우울해져", "가을만 되면 우울해져"),
    ("season", "여름 휴가 언제 가?", "겨울 휴가 언제 가?"),
    ("season", "가을에 결혼해요", "겨울에 결혼해요"),
    ("season", "겨울에는 피부가 건조해요", "여름에는 피부가 건조해요"),
]

PARAPHRASES = [
    ("same_time", "월요일에 회의 있어", "월요일에 미팅 잡혀 있어"),
    ("same_time", "토요일에 택배 오나요?", "토요일에도 택배 배송하나요?"),
    ("same_time", "주말에 영업하나요?", "주말에도 가게 문 열어요?"),
    ("same_time", "아침에 운동하는 게 좋을까", "아침 운동이 몸에 좋을까?"),
    ("same_time", "점심 먹고 나면 졸려", "점심만 먹으면 너무 졸려요"),
    ("same_time", "새벽에 자꾸 깨", "새벽마다 잠이 깨요"),
    ("same_time", "저녁에 커피 마시면 잠이 안 와", "저녁에 커피 마시면 잠을 못 자"),
    ("same_time", "여름에 제주도 가려고", "이번 여름에 제주도 여행 갈 거야"),
    ("same_time", "겨울만 되면 우울해져", "겨울이 오면 기분이 가라앉아"),
    ("same_time", "가을에 결혼해요", "가을에 결혼식 올려요"),
    ("same_time", "금요일에 월급 들어와", "월급날이 금요일이야"),
    ("same_time", "밤마다 머리가 아파요", "밤만 되면 두통이 있어요"),
    ("same_time", "겨울에는 피부가 건조해요", "겨울철엔 피부가 너무 건조해"),
    ("same_time", "수요일 저녁에 친구 만나기로 했어", "수요일 저녁에 친구랑 약속 있어"),
    ("one_side", "여름 휴가 언제 가?", "휴가 언제 가?"),
    ("one_side", "일요일에도 병원 문 여나요", "휴일에도 병원 진료하나요"),
    ("one_side", "점심시간에 은행 가도 돼?", "은행 점심시간에도 업무 봐?"),
    ("one_side", "아침마다 머리가 아파요", "일어나면 머리가 아파요"),
    ("one_side", "가을 옷 정리해야겠다", "가을 옷들 정리 좀 해야겠어"),
    ("one_side", "화요일마다 수영 다녀요", "매주 화요일 수영장에 가요"),
]

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "checks.jsonl"), "w", encoding="utf-8") as f:
        for label, prefix, pairs in ((0, "time", LOOKALIKES), (1, "paraphrase", PARAPHRASES)):
            for kind, a, b in pairs:
                row = {"sentence1": a, "sentence2": b, "label": label, "kind": f"{prefix}_{kind}"}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
