"""A fourth FAQ check-before-insert set: 60 new texts written by hand on 2026-12-07, each mimicking one
stored entry of corpus.jsonl (or none). `python3 queries.py` writes queries.jsonl (for
scripts/faq_check_report.py) and checks.jsonl (the same texts as pairs with the entry they mimic, for
scripts/check_set_report.py). Written before any model was read on it."""
import os
import sys

# (kind, entry it mimics, new text); paraphrases should be flagged as that entry, the rest not at all.
TEXTS = [
    ("paraphrase", "s010", "상견례 때문에 엄청 긴장돼"),
    ("paraphrase", "s013", "축의금은 얼마 내는 게 적당해?"),
    ("paraphrase", "s022", "온몸에 기운이 쭉 빠졌어"),
    ("paraphrase", "s024", "전셋집 계약 마쳤어"),
    ("paraphrase", "s048", "나가기가 너무 귀찮다"),
    ("paraphrase", "s060", "우리 남편은 매일 늦게 귀가해"),
    ("paraphrase", "s075", "온라인 강의에 집중을 못 하겠어"),
    ("paraphrase", "s082", "휴대폰 화면이 깨졌어"),
    ("paraphrase", "s103", "아버지가 술을 좀 줄이셨으면 좋겠어"),
    ("paraphrase", "s114", "비가 내리기 시작했어"),
    ("paraphrase", "s124", "점심 먹는 시간이 너무 부족해"),
    ("paraphrase", "s134", "새 신발을 장만했어"),
    ("paraphrase", "s178", "아이디가 생각이 안 나서 로그인을 못 하겠어"),
    ("paraphrase", "s182", "밤을 설쳐서 엄청 졸리다"),
    ("paraphrase", "s202", "이제 핸드폰 바꿀 때가 됐어"),
    ("paraphrase", "s218", "이사 때문에 학교를 옮기게 됐어"),
    ("paraphrase", "s236", "보증금이 부족해"),
    ("paraphrase", "s248", "입안이 온통 헐어서 아파"),
    ("paraphrase", "s270", "나 핸드폰 게임을 너무 많이 하는 것 같아"),
    ("paraphrase", "s287", "배가 고파서 기운이 없어"),
    ("antonym", "s098", "여자친구가 너무 다정해"),
    ("antonym", "s124", "점심시간이 너무 길어"),
    ("antonym", "s145", "몸이 깃털처럼 가볍다"),
    ("antonym", "s163", "든든하다"),
    ("antonym", "s299", "의욕이 넘친다"),
    ("negation", "s017", "과일을 자주 먹게 돼"),
    ("negation", "s120", "남자친구한테 아직도 설레"),
    ("negation", "s075", "인강 들을 때는 집중이 잘 돼"),
    ("negation", "s178", "로그인 아이디 기억났어"),
    ("negation", "s066", "소개팅하고 연락이 바로 왔어"),
    ("role_swap", "s228", "내가 뒷담화한 애한테 어떻게 하지?"),
    ("role_swap", "s234", "내가 좋아하는 사람을 창피해하는 것 같아."),
    ("role_swap", "s196", "내 짝남이 내 친구 욕을 계속 해."),
    ("role_swap", "s148", "제가 좋아하던 사람한테 갑자기 매정해졌어요."),
    ("role_swap", "s087", "내가 힘들어하는데 여자친구가 뭘 해줄 수 있을까?"),
    ("time", "s175", "지난주 일요일에 만났어"),
    ("time", "s277", "다음 주에 이별하러 가"),
    ("time", "s223", "어제 결재 받았어"),
    ("time", "s211", "짝남 어제 출국했어."),
    ("time", "s090", "일주일 만에 연락해봤네"),
    ("quantity", "s284", "조금 먹었는데도 졸려"),
    ("quantity", "s216", "친구 한 명이 떠나 갔어"),
    ("quantity", "s270", "나 폰겜 하루에 10분만 해"),
    ("quantity", "s198", "5개월 연애 이별"),
    ("quantity", "s291", "일을 우리 팀 모두가 나눠서 해"),
    ("object", "s214", "떡볶이 시켜야지"),
    ("object", "s083", "볼링 쳤어"),
    ("object", "s166", "수영 배워보려고"),
    ("object", "s297", "립스틱 뭐로 할까"),
    ("object", "s134", "가방 새로 샀다"),
    ("outcome", "s240", "결국 결혼했어!"),
    ("outcome", "s046", "썸 타고 있는데 카톡으로 고백 받음"),
    ("outcome", "s125", "불 났어"),
    ("outcome", "s031", "고데기 했는데 잘 됐어"),
    ("outcome", "s056", "끝까지 참고 전화 안 했습니다."),
    ("unrelated", None, "세탁기에서 이상한 소리가 나"),
    ("unrelated", None, "오늘 택배가 두 개나 왔어"),
    ("unrelated", None, "주말에 화분 분갈이 했어"),
    ("unrelated", None, "자전거 타이어에 바람이 빠졌어"),
    ("unrelated", None, "엘리베이터가 고장 났대"),
]

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "..", "..", "scripts"))
    from hand_written_faq_set import write

    write(here, TEXTS)
