#!/usr/bin/python3
"""Training peers for bench/train_bench.sh: scikit-learn's random forest and XGBoost's Python
package, on the features `fraudstream features` wrote, with the handbook split built exactly
like src/model/split.cc (train [S, S+7), delay 7 days, test 7 days; on test day i the customers
with a fraud in training or on delay days up to S+7+i-1 are dropped).

  /usr/bin/python3 bench/python_train.py FEATURES.csv [--runs N] [--train-start 2018-07-25]
      [--rounds 200 --eta 0.1 --max-depth 5 --subsample 0.8 --colsample-bytree 0.8
       --min-child-weight 1 --base-score 0.5|prior] [--threads 2]

Loading the CSV and building the split are not timed. Timed, best of N: (a) RandomForestClassifier
(100 trees, max_depth 12, n_jobs 2) fit + predict_proba on the test rows; (b) XGBClassifier with
our default gbdt parameters fit + predict_proba on the test rows. Prints one JSON object.
"""
import argparse
import json
import time

import numpy as np
import pandas as pd
import sklearn
import xgboost
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import average_precision_score, roc_auc_score

TX_COLUMNS = ["transaction_id", "tx_datetime", "customer_id", "terminal_id", "tx_amount",
              "tx_time_seconds", "tx_time_days", "tx_fraud", "tx_fraud_scenario"]


def day_index(datetimes):
    """core/time.h DayIndex: whole calendar days of event time, from the tx_datetime column."""
    return datetimes.str.slice(0, 10).to_numpy().astype("datetime64[D]").astype(np.int64)


def handbook_split(day, customer, fraud, start, train_days=7, delay_days=7, test_days=7):
    """Row indices (train, test), as src/model/split.cc MakeHandbookSplit."""
    rel = day - start
    known_days = train_days + delay_days
    train = np.flatnonzero((rel >= 0) & (rel < train_days))
    known = set(customer[(rel >= 0) & (rel < train_days) & (fraud == 1)].tolist())
    test = []
    for d in range(test_days):
        learnt = train_days + d - 1  # test day d knows the labels up to this day
        if train_days <= learnt < known_days:
            known.update(customer[(rel == learnt) & (fraud == 1)].tolist())
        rows = np.flatnonzero(rel == known_days + d)
        keep = ~np.isin(customer[rows], np.fromiter(known, dtype=np.int64, count=len(known)))
        test.append(rows[keep])
    return train, np.concatenate(test)


def best_of(runs, fn):
    best = None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        t1 = time.perf_counter()
        if best is None or t1 - t0 < best[0]:
            best = (t1 - t0, out)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("features_csv")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--train-start", default="2018-07-25")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--eta", type=float, default=0.1)
    ap.add_argument("--max-depth", type=int, default=5)
    ap.add_argument("--subsample", type=float, default=0.8)
    ap.add_argument("--colsample-bytree", type=float, default=0.8)
    ap.add_argument("--min-child-weight", type=float, default=1.0)
    ap.add_argument("--base-score", default="0.5", help="a probability, or prior: the training fraud rate")
    args = ap.parse_args()

    header = pd.read_csv(args.features_csv, nrows=0).columns.tolist()
    assert header[:len(TX_COLUMNS)] == TX_COLUMNS, header[:len(TX_COLUMNS)]
    feature_names = header[len(TX_COLUMNS):]
    dtypes = {name: np.float32 for name in feature_names}
    dtypes.update(tx_datetime=str, customer_id=np.int64, tx_fraud=np.int8)
    df = pd.read_csv(args.features_csv, usecols=["tx_datetime", "customer_id", "tx_fraud"] + feature_names,
                     dtype=dtypes, engine="c")
    day = day_index(df["tx_datetime"])
    start = np.datetime64(args.train_start, "D").astype(np.int64)
    customer = df["customer_id"].to_numpy()
    fraud = df["tx_fraud"].to_numpy()
    train, test = handbook_split(day, customer, fraud, start)
    X = df[feature_names].to_numpy(dtype=np.float32)
    x_train, y_train = X[train], fraud[train]
    x_test, y_test = X[test], fraud[test]
    del df, X

    def rf():
        model = RandomForestClassifier(n_estimators=100, max_depth=12, n_jobs=args.threads,
                                       random_state=0)
        t0 = time.perf_counter()
        model.fit(x_train, y_train)
        t1 = time.perf_counter()
        scores = model.predict_proba(x_test)[:, 1]
        return t1 - t0, time.perf_counter() - t1, scores

    base_score = float(y_train.mean()) if args.base_score == "prior" else float(args.base_score)

    def xgb():
        model = xgboost.XGBClassifier(objective="binary:logistic", tree_method="hist",
                                      n_estimators=args.rounds, learning_rate=args.eta,
                                      max_depth=args.max_depth, subsample=args.subsample,
                                      colsample_bytree=args.colsample_bytree,
                                      min_child_weight=args.min_child_weight, n_jobs=args.threads,
                                      base_score=base_score, random_state=0)
        t0 = time.perf_counter()
        model.fit(x_train, y_train)
        t1 = time.perf_counter()
        scores = model.predict_proba(x_test)[:, 1]
        return t1 - t0, time.perf_counter() - t1, scores

    out = {
        "features": len(feature_names),
        "train_rows": int(len(train)),
        "train_frauds": int(y_train.sum()),
        "test_rows": int(len(test)),
        "test_positives": int(y_test.sum()),
        "versions": {"sklearn": sklearn.__version__, "xgboost": xgboost.__version__,
                     "pandas": pd.__version__},
        "runs": args.runs,
    }
    for name, fn in (("sklearn_rf", rf), ("xgboost_python", xgb)):
        seconds, (fit_s, predict_s, scores) = best_of(args.runs, fn)
        out[name] = {"seconds": seconds, "fit_seconds": fit_s, "predict_seconds": predict_s,
                     "roc_auc": roc_auc_score(y_test, scores),
                     "average_precision": average_precision_score(y_test, scores)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
