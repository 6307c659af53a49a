"""A third FAQ check-before-insert set: 60 new texts written by hand on 2026-12-07, each mimicking one
stored entry of corpus.jsonl (or none). `python3 queries.py` writes queries.jsonl (for
scripts/faq_check_report.py) and checks.jsonl (the same texts as pairs with the entry they mimic, for
scripts/check_set_report.py). Written before any model was read on it."""
import os
import sys

# (kind, entry it mimics, new text); paraphrases should be flagged as that entry, the rest not at all.
TEXTS = [
    ("paraphrase", "r005", "야근 이제 그만 하고 싶다"),
    ("paraphrase", "r011", "돈이 도무지 모이질 않아"),
    ("paraphrase", "r019", "버스가 아직도 안 오네"),
    ("paraphrase", "r032", "남친이 잔소리를 너무 많이 해"),
    ("paraphrase", "r034", "막차를 놓쳐서 택시비가 아깝다"),
    ("paraphrase", "r048", "아 추워요"),
    ("paraphrase", "r060", "또 상사한테 혼났어"),
    ("paraphrase", "r068", "눈이 자꾸 뻑뻑하네"),
    ("paraphrase", "r083", "해외로 여행 가고 싶어"),
    ("paraphrase", "r107", "과식해 버렸어"),
    ("paraphrase", "r122", "날씨가 왜 이리 추워"),
    ("paraphrase", "r131", "엄마가 언니랑 나를 차별해"),
    ("paraphrase", "r165", "오늘 엄청 졸리다"),
    ("paraphrase", "r204", "군대에 있는데 여친이 보고 싶다"),
    ("paraphrase", "r220", "내일 발표가 있어서 긴장돼"),
    ("paraphrase", "r240", "야근하는 건 나뿐이야"),
    ("paraphrase", "r257", "전화할 사람이 아무도 없네"),
    ("paraphrase", "r268", "목이 아프네요"),
    ("paraphrase", "r272", "남친이 헤어질 준비를 하는 것 같아"),
    ("paraphrase", "r284", "퇴근하고 나면 아무것도 못 하겠어"),
    ("antonym", "r068", "눈이 계속 촉촉해"),
    ("antonym", "r062", "여자친구가 눈치가 빨라."),
    ("antonym", "r250", "여친이 너무 둔해"),
    ("antonym", "r165", "오늘 너무 쌩쌩해"),
    ("antonym", "r288", "찝찝하네여"),
    ("negation", "r049", "면허 안 따도 되나"),
    ("negation", "r141", "술 먹으러 갔는데 연락이 잘 돼"),
    ("negation", "r162", "추석에 집에 가고 싶어"),
    ("negation", "r170", "이제 결정 내렸어"),
    ("negation", "r278", "말이 예쁘게 나와"),
    ("role_swap", "r214", "내가 남자친구를 너무 애 취급하는거 같음."),
    ("role_swap", "r061", "내가 후배보다 잘해서 속상해"),
    ("role_swap", "r099", "두 사람한테 거의 동시에 고백했어"),
    ("role_swap", "r174", "내 친구가 짝남 좋아하는 현실 어떻게 받아들여요?"),
    ("role_swap", "r113", "내가 짝남을 신경쓰는 것 같은 건 내 착각일까."),
    ("time", "r220", "방금 발표 끝났는데 떨려"),
    ("time", "r016", "일요일에 교회 가기 전에 어디 가고 싶어."),
    ("time", "r237", "팬미팅 가는 길이야"),
    ("time", "r129", "낮에 전화가 왔네"),
    ("time", "r118", "이별 전 한달"),
    ("quantity", "r257", "통화할 사람이 너무 많아"),
    ("quantity", "r107", "너무 조금 먹었어"),
    ("quantity", "r056", "남자친구 이성친구가 한 명뿐이야"),
    ("quantity", "r267", "문자보낼 친구가 수십 명이야"),
    ("quantity", "r240", "다들 야근해"),
    ("object", "r074", "짬뽕 시켰어"),
    ("object", "r052", "향수 선물해야지"),
    ("object", "r091", "사주 봤어"),
    ("object", "r018", "귀가 아파"),
    ("object", "r206", "등산 재밌을까"),
    ("outcome", "r137", "오늘부터 짝사랑을 시작하려 합니다."),
    ("outcome", "r055", "동상 걸렸어"),
    ("outcome", "r140", "연락 왔는데 다시 만나기로 했어"),
    ("outcome", "r245", "드디어 제가 손을 잡았어."),
    ("outcome", "r232", "운명인 줄 알았는데 우연이었어"),
    ("unrelated", None, "주차 공간이 너무 좁아"),
    ("unrelated", None, "다음 주에 이사 가"),
    ("unrelated", None, "노트북 배터리가 빨리 닳아"),
    ("unrelated", None, "고양이가 밥을 안 먹어"),
    ("unrelated", None, "치과 예약을 잊어버렸어"),
]

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "..", "..", "scripts"))
    from hand_written_faq_set import write

    write(here, TEXTS)
