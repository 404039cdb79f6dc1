#!/usr/bin/python3
"""Prequential validation of `train`'s gbdt settings (docs/MODEL.md, "Boosting rounds by
prequential validation"): for each data set, the handbook split moved back before the training
week (train 7 days from S - 14, S - 21, ... days, test the 7 days after the delay), one model per
fold and setting; the mean ROC AUC, AP and card precision@100 over folds and data sets, and how
well a threshold chosen on one fold (max recall at FPR <= 5 %) holds on the next, later one.

  /usr/bin/python3 bench/prequential.py FEATURES.csv [...] [--rounds 100,300] [--base-score 0.5,prior]
      [--folds 4] [--train-start 2018-07-25] [--threads 2]

FEATURES.csv: `fraudstream features DATA --feature-set fraudstream-v4 --out FEATURES.csv`. The
other parameters are train's defaults (depth 4, eta 0.05, subsample and column sample 0.8,
min_child_weight 5). Prints one line per setting. The test days of `train` are never used.
"""
import argparse

import numpy as np
import pandas as pd
import xgboost
from sklearn.metrics import average_precision_score, roc_auc_score

from cp_oracle import card_precision
from python_train import TX_COLUMNS, day_index, handbook_split


def threshold_at_fpr(scores, labels, max_fpr=0.05):
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    tp, fp = np.cumsum(y), np.cumsum(1 - y)
    ok = np.r_[s[1:] != s[:-1], True] & (fp / (1 - labels).sum() <= max_fpr)
    return s[np.flatnonzero(ok)[np.argmax(tp[ok])]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("features", nargs="+")
    ap.add_argument("--rounds", default="100,150,200,300")
    ap.add_argument("--base-score", default="0.5,prior")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--train-start", default="2018-07-25")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    start = np.datetime64(args.train_start, "D").astype(np.int64)
    settings = [(int(r), b) for r in args.rounds.split(",") for b in args.base_score.split(",")]
    results = {s: [] for s in settings}
    for path in args.features:
        names = pd.read_csv(path, nrows=0).columns.tolist()[len(TX_COLUMNS):]
        df = pd.read_csv(path, dtype={n: np.float32 for n in names})
        day = day_index(df["tx_datetime"])
        card, y = df["customer_id"].to_numpy(), df["tx_fraud"].to_numpy()
        x = df[names].to_numpy(np.float32)
        # Fold k trains from S - 14 - 7k; fold k + 1 (earlier) sets the threshold that fold k meets.
        folds = [handbook_split(day, card, y, start - 14 - 7 * k) for k in range(args.folds + 1)]
        for rounds, base in settings:
            scores = []
            for train, test in folds:
                model = xgboost.XGBClassifier(
                    objective="binary:logistic", tree_method="hist", n_estimators=rounds,
                    learning_rate=0.05, max_depth=4, subsample=0.8, colsample_bytree=0.8,
                    min_child_weight=5, n_jobs=args.threads, random_state=0,
                    base_score=float(y[train].mean()) if base == "prior" else float(base))
                model.fit(x[train], y[train])
                scores.append(model.predict_proba(x[test])[:, 1])
            for k in range(args.folds):
                test, s = folds[k][1], scores[k]
                threshold = threshold_at_fpr(scores[k + 1], y[folds[k + 1][1]])
                negatives = y[test] == 0
                fpr = np.mean(s[negatives] >= threshold)
                results[(rounds, base)].append(
                    (roc_auc_score(y[test], s), average_precision_score(y[test], s),
                     card_precision(day[test], card[test], y[test], s)[0], abs(fpr - 0.05), fpr))
        print(f"{path}: done", flush=True)
    print(f"{'rounds':>6s} {'from':>5s}  ROC AUC      AP  CP@100  mean|FPR-5%|  worst FPR")
    for (rounds, base), rows in results.items():
        r = np.asarray(rows)
        print(f"{rounds:6d} {base:>5s}  {r[:, 0].mean():7.4f} {r[:, 1].mean():7.4f} {r[:, 2].mean():7.4f}"
              f"  {100 * r[:, 3].mean():8.1f} pts  {100 * r[:, 4].max():7.1f} %")


if __name__ == "__main__":
    main()
