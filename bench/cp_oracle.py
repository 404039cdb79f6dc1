#!/usr/bin/python3
"""The card precision@100 that a model honouring the 7-day label delay can reach at best, on a
data set from `fraudstream generate` (docs/MODEL.md, "The CP@100 ceiling").

  /usr/bin/python3 bench/cp_oracle.py DATA.csv [DATA.csv ...] [--train-start 2018-07-25]

DATA.csv: `fraudstream generate --format csv` output (it has tx_fraud_scenario). The test rows
are those of bench/python_train.py's handbook split. A fraud is visible when nothing but the
delay hides it: scenarios 1 (amount) and 3 (a compromised card's x5 amounts) always; scenario 2
(a compromised terminal) once a fraud of the terminal's current compromise is at least 7 days
old. The oracle scores every visible fraud 1 and everything else 0, and fills the rest of each
day's 100 cards three ways: in id order, at random (mean of 5 draws), and by the card's number
of transactions that day (which needs the whole day, so no causal score has it either).
Prints one line per file and the means.
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


def card_precision(day, card, label, score, k=100):
    d = pd.DataFrame({"day": day, "card": card, "y": label, "s": score})
    g = d.groupby(["day", "card"]).agg(s=("s", "max"), y=("y", "max")).reset_index()
    detected, per_day = set(), []
    for _, gd in g.groupby("day"):
        top = gd[~gd.card.isin(detected)].sort_values("s", ascending=False, kind="mergesort").head(k)
        per_day.append(top.y.sum() / k)
        detected |= set(top.card[top.y == 1])
    return float(np.mean(per_day))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="+")
    ap.add_argument("--train-start", default="2018-07-25")
    args = ap.parse_args()
    start = np.datetime64(args.train_start, "D").astype(np.int64)
    results = []
    for path in args.data:
        df = pd.read_csv(path)
        day = day_index(df["tx_datetime"])
        card, y = df["customer_id"].to_numpy(), df["tx_fraud"].to_numpy()
        _, test = handbook_split(day, card, y, start)
        seen = (visible(df) & (y == 1)).astype(float)[test]
        d, c, yt = day[test], card[test], y[test]
        rng = np.random.default_rng(0)
        n_tx = pd.Series(1, index=pd.MultiIndex.from_arrays([d, c])).groupby(level=[0, 1]).transform("size")
        row = (card_precision(d, c, yt, seen),
               np.mean([card_precision(d, c, yt, seen + 1e-3 * rng.random(len(yt))) for _ in range(5)]),
               card_precision(d, c, yt, seen + 1e-5 * n_tx.to_numpy()))
        results.append(row)
        print(f"{path}: oracle CP@100 {row[0]:.4f} (id order), {row[1]:.4f} (random), "
              f"{row[2]:.4f} (by the day's transactions)", flush=True)
    print("mean: " + ", ".join(f"{v:.4f}" for v in np.mean(results, axis=0)))


if __name__ == "__main__":
    main()
