#!/usr/bin/python3
"""The Python peer of `fraudstream stream`: a Kafka scoring consumer in the course students' style.

confluent-kafka (Debian python3-confluent-kafka) consumer in a group, consume(500, timeout=1.0)
batches; each batch is parsed with pandas, appended to an in-memory pandas history of the last
37 days (30-day window + 7-day delay), and its features are the Fraud Detection Handbook's
handbook-v1 set (DESIGN §3, ch. 3.3) computed with pandas time-based rolling windows
(rolling('Nd')) over the history rows of the batch's customers and terminals, all keys in one
call per window (see rolling_by_key: the per-group groupby().rolling() was ~7x slower); the
same model is scored through XGBoost's Python package (Debian python3-xgboost)
from the artifact's booster JSON, and one JSON prediction per transaction is produced, keyed by
customer_id, to the predictions topic.

Windows as in the handbook and in fraudstream: per customer (t - N days, t] including the
transaction, ties in arrival order; per terminal (t - (N + 7) days, t - 7 days], risk = frauds /
count (0 when empty), the label of a row only counted once it is 7 days old.

  python_stream_consumer.py run --brokers B --model-dir DIR [--max-messages N] [--idle-exit S]
      prints one JSON line: consumed, predicted, seconds, latency_p50_ms, latency_p99_ms
      (latency = message timestamp -> prediction produced, as in `fraudstream stream`)
  python_stream_consumer.py check DATA.csv FEATURES.csv [--rows N]
      computes the features of DATA's first N rows in 500-row batches, as `run` does, and
      compares them with `fraudstream features --feature-set handbook-v1` output

Run with Debian's /usr/bin/python3 (the python3-* packages import only there).
"""
import argparse
import io
import json
import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from pandas_features import FEATURES  # noqa: E402  the handbook's 15 inputs, in model order

COLUMNS = ['TRANSACTION_ID', 'TX_DATETIME', 'CUSTOMER_ID', 'TERMINAL_ID', 'TX_AMOUNT',
           'TX_TIME_SECONDS', 'TX_TIME_DAYS', 'TX_FRAUD', 'TX_FRAUD_SCENARIO']
HISTORY_COLUMNS = ['TX_DATETIME', 'CUSTOMER_ID', 'TERMINAL_ID', 'TX_AMOUNT', 'TX_FRAUD']
WINDOWS = [1, 7, 30]
DELAY = 7
KEEP = pd.Timedelta(days=max(WINDOWS) + DELAY)


# Wider than any window, so that windows of one key never reach the rows of another.
KEY_GAP = np.int64(pd.Timedelta(days=64).value)


def rolling_by_key(rows, key, value, days):
    """Time-based rolling sum and count of `value` per `key` for each window in `days`, for
    the rows whose ROW >= 0 (the batch); returns their batch positions and (sum, count) per
    window. One pandas rolling('Nd') call per window over all keys at once: rows sorted by
    (key, time), each key's times shifted by KEY_GAP times its rank. (groupby(key).rolling()
    gives the same values, but its per-group overhead made it ~1 s per 500-row batch.)"""
    rows = rows.sort_values([key, 'TX_DATETIME'], kind='stable')
    keys = rows[key].values
    rank = np.concatenate([[0], np.cumsum(keys[1:] != keys[:-1])])
    times = rows.TX_DATETIME.values.astype('int64')
    shifted = times - times.min() + rank * KEY_GAP
    series = pd.Series(rows[value].values.astype('float64'),
                       index=pd.DatetimeIndex(shifted.astype('datetime64[ns]')))
    is_new = rows.ROW.values >= 0
    out = []
    for n in days:
        r = series.rolling(f'{n}d')
        out.append((r.sum().values[is_new], r.count().values[is_new]))
    return rows.ROW.values[is_new], out


class FeatureHistory:
    """The last 37 days of transactions as one pandas DataFrame, in arrival order."""

    def __init__(self):
        self.history = pd.DataFrame({c: pd.Series(dtype='datetime64[ns]' if c == 'TX_DATETIME'
                                                  else 'float64' if c == 'TX_AMOUNT' else 'int64')
                                     for c in HISTORY_COLUMNS})

    def features(self, batch):
        """Appends the batch to the history and returns its 15 features, in batch order."""
        batch = batch.reset_index(drop=True)
        batch['TX_DURING_WEEKEND'] = (batch.TX_DATETIME.dt.weekday >= 5).astype('int64')
        batch['TX_DURING_NIGHT'] = (batch.TX_DATETIME.dt.hour <= 6).astype('int64')
        new = batch[HISTORY_COLUMNS].copy()
        new['ROW'] = np.arange(len(batch))
        old = self.history.assign(ROW=-1)
        self.history = pd.concat([self.history, batch[HISTORY_COLUMNS]], ignore_index=True)
        newest = self.history.TX_DATETIME.max()
        if self.history.TX_DATETIME.iloc[0] < newest - KEEP - pd.Timedelta(days=1):
            self.history = self.history[self.history.TX_DATETIME > newest - KEEP].reset_index(
                drop=True)

        # Customers: (t - N days, t], the transaction itself included, ties in arrival order.
        rows = pd.concat([old[old.CUSTOMER_ID.isin(batch.CUSTOMER_ID)], new], ignore_index=True)
        at, windows = rolling_by_key(rows, 'CUSTOMER_ID', 'TX_AMOUNT', WINDOWS)
        for n, (total, count) in zip(WINDOWS, windows):
            batch.loc[at, f'CUSTOMER_ID_NB_TX_{n}DAY_WINDOW'] = count
            batch.loc[at, f'CUSTOMER_ID_AVG_AMOUNT_{n}DAY_WINDOW'] = total / count

        # Terminals: (t - (N + 7) days, t - 7 days]: rolling N + 7 days minus rolling 7 days.
        rows = pd.concat([old[old.TERMINAL_ID.isin(batch.TERMINAL_ID)], new], ignore_index=True)
        at, windows = rolling_by_key(rows, 'TERMINAL_ID', 'TX_FRAUD',
                                     [DELAY] + [n + DELAY for n in WINDOWS])
        delay_frauds, delay_count = windows[0]
        for n, (frauds, count) in zip(WINDOWS, windows[1:]):
            frauds, count = frauds - delay_frauds, count - delay_count
            batch.loc[at, f'TERMINAL_ID_NB_TX_{n}DAY_WINDOW'] = count
            with np.errstate(invalid='ignore', divide='ignore'):
                batch.loc[at, f'TERMINAL_ID_RISK_{n}DAY_WINDOW'] = np.where(
                    count > 0, frauds / count, 0.0)
        return batch


def parse(lines):
    """CSV rows in the Otus column order (what `fraudstream replay` sends) to a DataFrame."""
    df = pd.read_csv(io.StringIO('\n'.join(lines)), header=None, names=COLUMNS)
    df = df.dropna()
    df['TX_DATETIME'] = pd.to_datetime(df['TX_DATETIME'], format='%Y-%m-%d %H:%M:%S')
    return df


def run(args):
    import xgboost as xgb
    from confluent_kafka import Consumer, KafkaError, Producer

    manifest = json.load(open(f'{args.model_dir}/fraudstream.json'))
    names = manifest['features']['names']
    if names != FEATURES:
        sys.exit(f'the model uses {manifest["features"]["name"]}; this peer computes handbook-v1')
    threshold = manifest['threshold']['value']
    booster = xgb.Booster()
    booster.load_model(f'{args.model_dir}/{manifest["model"]["booster_file"]}')
    booster.set_param({'nthread': 1})
    model_name, model_version = args.model_dir, manifest['model']['booster_checksum']

    consumer = Consumer({'bootstrap.servers': args.brokers, 'group.id': args.group,
                         'auto.offset.reset': 'earliest', 'fetch.wait.max.ms': 10,
                         'session.timeout.ms': 6000})
    producer = Producer({'bootstrap.servers': args.brokers, 'linger.ms': 5,
                         'compression.codec': 'lz4', 'enable.idempotence': True,
                         'queue.buffering.max.messages': 1000000})
    consumer.subscribe([args.input])
    state = FeatureHistory()
    latencies, consumed, predicted = [], 0, 0
    start = time.time()
    last_message = None
    while args.max_messages <= 0 or consumed < args.max_messages:
        messages = consumer.consume(500, timeout=1.0)
        if not messages:
            if last_message is not None and time.time() - last_message >= args.idle_exit > 0:
                break
            continue
        last_message = time.time()
        good = [m for m in messages if m.error() is None]
        for m in messages:
            if m.error() is not None and m.error().code() != KafkaError._PARTITION_EOF:
                print(f'consumer error: {m.error()}', file=sys.stderr)
        consumed += len(good)
        if not good:
            continue
        batch = parse([m.value().decode() for m in good])
        if len(batch) != len(good):
            sys.exit('a message did not parse: this peer expects clean CSV rows')
        batch = state.features(batch)
        scores = booster.predict(xgb.DMatrix(batch[FEATURES].values.astype(np.float32),
                                             feature_names=FEATURES))
        now_ms = time.time() * 1000
        event_times = batch.TX_DATETIME.dt.strftime('%Y-%m-%d %H:%M:%S').tolist()
        for m, tx_id, customer, terminal, event_time, score in zip(
                good, batch.TRANSACTION_ID.tolist(), batch.CUSTOMER_ID.tolist(),
                batch.TERMINAL_ID.tolist(), event_times, scores.tolist()):
            latency = now_ms - m.timestamp()[1]
            latencies.append(latency)
            prediction = {
                'transaction_id': tx_id, 'customer_id': customer, 'terminal_id': terminal,
                'score': score, 'is_fraud': score >= threshold, 'threshold': threshold,
                'model': model_name, 'model_version': model_version, 'event_time': event_time,
                'processing_latency_ms': latency, 'partition': m.partition(),
                'offset': m.offset()}
            producer.produce(args.output, key=str(customer), value=json.dumps(prediction))
            producer.poll(0)
        predicted += len(batch)
    producer.flush(60)
    consumer.close()
    seconds = time.time() - start
    lat = np.array(latencies) if latencies else np.zeros(1)
    print(json.dumps({'consumed': consumed, 'predicted': predicted, 'seconds': seconds,
                      'latency_p50_ms': float(np.percentile(lat, 50)),
                      'latency_p99_ms': float(np.percentile(lat, 99))}))


def check(args):
    """The features of `run`, batch by batch, against fraudstream's on the same rows."""
    data = pd.read_csv(args.data, nrows=args.rows)
    data.columns = [c.upper() for c in data.columns]
    data['TX_DATETIME'] = pd.to_datetime(data['TX_DATETIME'])
    state = FeatureHistory()
    start = time.perf_counter()
    parts = [state.features(data.iloc[i:i + 500][COLUMNS].copy())
             for i in range(0, len(data), 500)]
    seconds = time.perf_counter() - start
    ours = pd.concat(parts, ignore_index=True)
    theirs = pd.read_csv(args.features, nrows=args.rows)
    assert (ours.TRANSACTION_ID.values == theirs.transaction_id.values).all()
    worst = {f: float(np.max(np.abs(ours[f].values - theirs[f].values))) for f in FEATURES}
    print(json.dumps({'rows': len(ours), 'feature_seconds': seconds,
                      'max_abs_difference': max(worst.values()), 'per_feature': worst}))


def main():
    import warnings
    warnings.simplefilter('ignore')
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='mode', required=True)
    r = sub.add_parser('run')
    r.add_argument('--brokers', required=True)
    r.add_argument('--model-dir', required=True)
    r.add_argument('--input', default='transactions-input')
    r.add_argument('--output', default='fraud-predictions')
    r.add_argument('--group', default='python-peer-group')
    r.add_argument('--max-messages', type=int, default=0)
    r.add_argument('--idle-exit', type=float, default=0)
    c = sub.add_parser('check')
    c.add_argument('data')
    c.add_argument('features')
    c.add_argument('--rows', type=int, default=100000)
    args = parser.parse_args()
    run(args) if args.mode == 'run' else check(args)


if __name__ == '__main__':
    main()
