#!/usr/bin/python3
"""The card precision@100 that a model honouring the 7-day label delay can reach at best, on a
data set from `fraudstream generate` (docs/MODEL.md, "The CP@100 ceiling").

  /usr/bin/python3 bench/cp_oracle.py DATA.csv [DATA.csv ...] [--train-start 2018-07-25]
                                      [--scores PRED.csv [PRED.csv ...]]

DATA.csv: `fraudstream generate --format csv` output (it has tx_fraud_scenario). The test rows
are those of bench/python_train.py's handbook split. A fraud is visible when nothing but the
delay hides it: scenarios 1 (amount) and 3 (a compromised card's x5 amounts) always; scenario 2
(a compromised terminal) once a fraud of the terminal's current compromise is at least 7 days
old. The oracle scores every visible fraud 1 and everything else 0, and fills the rest of each
day's 100 cards three ways: in id order, at random (mean of 5 draws), and by the card's number
of transactions that day (which needs the whole day, so no causal score has it either).
Prints one line per file and the means.

--scores: one `fraudstream predict` output per data file (its score column, in input order).
For each, the model's own CP@100 and where its compromised cards went: visible ones in the
day's top 100 and below it, and unseen ones (the delay hides them) in the top 100 and below.
"""
import argparse

import numpy as np
import pandas as pd

from python_train import day_index, handbook_split

DAY = 86400


def visible(df):
    t = df["tx_time_seconds"].to_numpy()
    term = df["terminal_id"].to_numpy()
    scenario = df["tx_fraud_scenario"].to_numpy()
    out = (scenario == 1) | (scenario == 3)
    s2 = np.flatnonzero(scenario == 2)
    runs = {}
    for i in s2[np.argsort(t[s2], kind="stable")]:
        runs.setdefault(term[i], []).append(t[i])
    for i in s2:
        times = np.asarray(runs[term[i]])
        times = times[times <= t[i]]
        gaps = np.flatnonzero(np.diff(times) > 28 * DAY)  # a compromise lasts 28 days
        first = times[gaps[-1] + 1] if len(gaps) else times[0]
        out[i] = first <= t[i] - 7 * DAY
    return out


def card_precision(day, card, label, score, seen=None, k=100):
    """The handbook's CP@k; with seen (per row: a visible fraud), also the compromised cards
    [visible in the top k, visible below it, unseen in the top k, unseen below it]."""
    seen = np.zeros(len(label)) if seen is None else seen
    d = pd.DataFrame({"day": day, "card": card, "y": label, "s": score, "v": seen})
    g = d.groupby(["day", "card"]).agg(s=("s", "max"), y=("y", "max"), v=("v", "max")).reset_index()
    detected, per_day, where = set(), [], np.zeros(4, dtype=int)
    for _, gd in g.groupby("day"):
        ranked = gd[~gd.card.isin(detected)].sort_values("s", ascending=False, kind="mergesort")
        top, below = ranked.head(k), ranked.iloc[k:]
        per_day.append(top.y.sum() / k)
        detected |= set(top.card[top.y == 1])
        for i, part in enumerate((top, below)):
            where[i] += ((part.y == 1) & (part.v > 0)).sum()
            where[i + 2] += ((part.y == 1) & (part.v == 0)).sum()
    return float(np.mean(per_day)), where


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="+")
    ap.add_argument("--train-start", default="2018-07-25")
    ap.add_argument("--scores", nargs="+", default=[], help="fraudstream predict output, one per data file")
    args = ap.parse_args()
    if args.scores and len(args.scores) != len(args.data):
        ap.error("--scores needs one file per data file")
    start = np.datetime64(args.train_start, "D").astype(np.int64)
    results, where = [], []
    for n, path in enumerate(args.data):
        df = pd.read_csv(path)
        day = day_index(df["tx_datetime"])
        card, y = df["customer_id"].to_numpy(), df["tx_fraud"].to_numpy()
        _, test = handbook_split(day, card, y, start)
        seen = (visible(df) & (y == 1)).astype(float)[test]
        d, c, yt = day[test], card[test], y[test]
        rng = np.random.default_rng(0)
        n_tx = pd.Series(1, index=pd.MultiIndex.from_arrays([d, c])).groupby(level=[0, 1]).transform("size")
        row = (card_precision(d, c, yt, seen)[0],
               np.mean([card_precision(d, c, yt, seen + 1e-3 * rng.random(len(yt)))[0] for _ in range(5)]),
               card_precision(d, c, yt, seen + 1e-5 * n_tx.to_numpy())[0])
        results.append(row)
        print(f"{path}: oracle CP@100 {row[0]:.4f} (id order), {row[1]:.4f} (random), "
              f"{row[2]:.4f} (by the day's transactions)", flush=True)
        if args.scores:
            pred = pd.read_csv(args.scores[n], usecols=["transaction_id", "score"])
            if not np.array_equal(pred.transaction_id.to_numpy(), df.transaction_id.to_numpy()):
                raise SystemExit(f"{args.scores[n]}: not the rows of {path} in their order")
            cp, w = card_precision(d, c, yt, pred.score.to_numpy()[test], seen)
            where.append(w)
            print(f"  model CP@100 {cp:.4f}; compromised cards: visible {w[0]} in the top 100, "
                  f"{w[1]} below; unseen {w[2]} in the top 100, {w[3]} below", flush=True)
    print("mean: " + ", ".join(f"{v:.4f}" for v in np.mean(results, axis=0)))
    if where:
        w = np.sum(where, axis=0)
        print(f"model, all files: visible {w[0]} in the top 100, {w[1]} below; unseen {w[2]} in the top 100, "
              f"{w[3]} below ({w[2] + w[3]} of {w.sum()} compromised cards are unseen)")


if __name__ == "__main__":
    main()
