#!/usr/bin/python3
"""The pandas peer of `fraudstream clean`, in the style of the course's notebooks.

read_csv, to_numeric / to_datetime with errors='coerce', dropna, a positive-amount filter,
drop_duplicates on transaction_id, to_csv. Prints one JSON line with rows and seconds.
Run with Debian's /usr/bin/python3 (python3-pandas).
"""
import json
import sys
import time

import pandas as pd

COLUMNS = ["transaction_id", "tx_datetime", "customer_id", "terminal_id", "tx_amount",
           "tx_time_seconds", "tx_time_days", "tx_fraud", "tx_fraud_scenario"]


def main(source: str, target: str) -> None:
    start = time.perf_counter()
    df = pd.read_csv(source, comment=None, skiprows=1, header=None, names=COLUMNS, dtype=str,
                     on_bad_lines="skip", engine="c")
    rows_in = len(df)
    for column in COLUMNS:
        if column == "tx_datetime":
            df[column] = pd.to_datetime(df[column], format="%Y-%m-%d %H:%M:%S", errors="coerce")
        else:
            df[column] = pd.to_numeric(df[column], errors="coerce")
    df = df.dropna()
    df = df[(df["tx_amount"] > 0) & (df["customer_id"] >= 0) & (df["terminal_id"] >= 0)]
    df = df.drop_duplicates(subset="transaction_id", keep="first")
    df.to_csv(target, index=False)
    seconds = time.perf_counter() - start
    print(json.dumps({"rows_in": rows_in, "rows_out": len(df), "seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
