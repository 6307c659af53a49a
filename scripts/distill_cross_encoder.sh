#!/bin/bash
# Distil the 12-layer STS cross-encoder (TEACHER) into a 4-layer student for reranking within 50 ms:
# the teacher scores (int8, no blend) the cross-encoder's own training pairs plus KLUE NLI train and
# StyleKQC training pairs; the student (the teacher's first 4 layers, fresh head) learns those scores;
# the best step on the KLUE tuning split (gold) is kept; the cosine blend is fitted on the tuning split.
# Needs what `make train-sts` and `make train-bi` write under .cache (the KLUE STS split, the hard
# negatives, the StyleKQC training file). About 35 minutes on 2 cores.
# Usage: [TEACHER=DIR] [LAYERS=4] [OUT=DIR] [BIN=target/release/yusa] scripts/distill_cross_encoder.sh
set -e
cd "$(dirname "$0")/.."
TEACHER=${TEACHER:-models/ko-sts-cross-encoder}
LAYERS=${LAYERS:-4}
OUT=${OUT:-.cache/ce${LAYERS}-distilled}
D=../shared/data
B=${BIN:-target/release/yusa}
# $BIN: the yusa binary (default target/release/yusa).
# The teacher's scores are kept per teacher (a rerun skips the scoring; another teacher scores anew).
W=.cache/distill/$(basename "$TEACHER")
mkdir -p $W
python3 scripts/distill_pairs.py pairs $D/klue_nli/klue-nli-v1.1.tar.gz .cache/stylekqc_train.jsonl 14000 $W/extra.jsonl
i=0
for f in .cache/klue_sts_tune_train.jsonl $D/korsts/sts-train.tsv .cache/hard_negatives.jsonl $W/extra.jsonl; do
  i=$((i+1))
  [ -s $W/pred$i.jsonl ] || nice -n 19 $B --precision int8 eval sts --model $TEACHER --data $f --no-blend --predictions $W/pred$i.jsonl
done
python3 scripts/distill_pairs.py relabel $W/teacher_scored.jsonl $W/pred{1,2,3,4}.jsonl
nice -n 19 $B train cross-encoder --base $TEACHER --layers $LAYERS --train $W/teacher_scored.jsonl \
  --dev .cache/klue_sts_tune_dev.jsonl --eval $D/klue_sts/klue-sts-v1.1_dev.json --eval $D/korsts/sts-dev.tsv \
  --exclude $D/klue_sts/klue-sts-v1.1_dev.json --seed 42 --epochs 1 --eval-every 200 --lr 1e-4 --batch-size 32 \
  --weight-decay 0.01 --warmup-ratio 0.1 --schedule linear --patience 3 --out $OUT
nice -n 19 $B train blend --model $OUT --bi-encoder yusa-ko-e5-small --data .cache/klue_sts_tune_dev.jsonl \
  --eval $D/klue_sts/klue-sts-v1.1_dev.json --eval $D/korsts/sts-dev.tsv
echo DISTILL DONE
