#!/usr/bin/python3
"""The pandas peer of `fraudstream features`: the Fraud Detection Handbook's own feature code.

Chapter 3.3 of Le Borgne et al., "Reproducible Machine Learning for Credit Card Fraud
Detection - Practical Handbook": is_weekend / is_night with apply, then
get_customer_spending_behaviour_features (rolling(str(window)+'d') on a datetime index, per
customer, through groupby.apply) and get_count_risk_rolling_window (delay 7 days, per terminal).
The functions are the handbook's, verbatim except one change: sort_values(..., kind='stable')
so rows with the same datetime keep their file order (the handbook's default quicksort may
reorder them; fraudstream's rule is arrival order).

  pandas_features.py bench IN.csv          prints one JSON line: rows, seconds
  pandas_features.py golden IN.csv OUT.csv writes transaction_id + the 15 features, input order

Run with Debian's /usr/bin/python3 (python3-pandas).
"""
import json
import sys
import time

import pandas as pd


def is_weekend(tx_datetime):
    # Transform date into weekday (0 is Monday, 6 is Sunday)
    weekday = tx_datetime.weekday()
    # Binary value: 0 if weekday, 1 if weekend
    is_weekend = weekday >= 5
    return int(is_weekend)


def is_night(tx_datetime):
    # Get the hour of the transaction
    tx_hour = tx_datetime.hour
    # Binary value: 1 if hour less than 6, and 0 otherwise
    is_night = tx_hour <= 6
    return int(is_night)


def get_customer_spending_behaviour_features(customer_transactions, windows_size_in_days=[1, 7, 30]):
    # Let us first order transactions chronologically
    customer_transactions = customer_transactions.sort_values('TX_DATETIME', kind='stable')
    # The transaction date and time is set as the index, which will allow the use of the rolling function
    customer_transactions.index = customer_transactions.TX_DATETIME
    # For each window size
    for window_size in windows_size_in_days:
        # Compute the sum of the transaction amounts and the number of transactions for the given window size
        SUM_AMOUNT_TX_WINDOW = customer_transactions['TX_AMOUNT'].rolling(str(window_size) + 'd').sum()
        NB_TX_WINDOW = customer_transactions['TX_AMOUNT'].rolling(str(window_size) + 'd').count()
        # Compute the average transaction amount for the given window size
        # NB_TX_WINDOW is always >0 since current transaction is always included
        AVG_AMOUNT_TX_WINDOW = SUM_AMOUNT_TX_WINDOW / NB_TX_WINDOW
        # Save feature values
        customer_transactions['CUSTOMER_ID_NB_TX_' + str(window_size) + 'DAY_WINDOW'] = list(NB_TX_WINDOW)
        customer_transactions['CUSTOMER_ID_AVG_AMOUNT_' + str(window_size) + 'DAY_WINDOW'] = list(AVG_AMOUNT_TX_WINDOW)
    # Reindex according to transaction IDs
    customer_transactions.index = customer_transactions.TRANSACTION_ID
    # And return the dataframe with the new features
    return customer_transactions


def get_count_risk_rolling_window(terminal_transactions, delay_period=7, windows_size_in_days=[1, 7, 30],
                                  feature="TERMINAL_ID"):
    terminal_transactions = terminal_transactions.sort_values('TX_DATETIME', kind='stable')
    terminal_transactions.index = terminal_transactions.TX_DATETIME
    NB_FRAUD_DELAY = terminal_transactions['TX_FRAUD'].rolling(str(delay_period) + 'd').sum()
    NB_TX_DELAY = terminal_transactions['TX_FRAUD'].rolling(str(delay_period) + 'd').count()
    for window_size in windows_size_in_days:
        NB_FRAUD_DELAY_WINDOW = terminal_transactions['TX_FRAUD'].rolling(str(delay_period + window_size) + 'd').sum()
        NB_TX_DELAY_WINDOW = terminal_transactions['TX_FRAUD'].rolling(str(delay_period + window_size) + 'd').count()
        NB_FRAUD_WINDOW = NB_FRAUD_DELAY_WINDOW - NB_FRAUD_DELAY
        NB_TX_WINDOW = NB_TX_DELAY_WINDOW - NB_TX_DELAY
        RISK_WINDOW = NB_FRAUD_WINDOW / NB_TX_WINDOW
        terminal_transactions[feature + '_NB_TX_' + str(window_size) + 'DAY_WINDOW'] = list(NB_TX_WINDOW)
        terminal_transactions[feature + '_RISK_' + str(window_size) + 'DAY_WINDOW'] = list(RISK_WINDOW)
    terminal_transactions.index = terminal_transactions.TRANSACTION_ID
    # Replace NA values with 0 (all undefined risk scores where NB_TX_WINDOW is 0)
    terminal_transactions.fillna(0, inplace=True)
    return terminal_transactions


FEATURES = ['TX_AMOUNT', 'TX_DURING_WEEKEND', 'TX_DURING_NIGHT',
            'CUSTOMER_ID_NB_TX_1DAY_WINDOW', 'CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW',
            'CUSTOMER_ID_NB_TX_7DAY_WINDOW', 'CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW',
            'CUSTOMER_ID_NB_TX_30DAY_WINDOW', 'CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW',
            'TERMINAL_ID_NB_TX_1DAY_WINDOW', 'TERMINAL_ID_RISK_1DAY_WINDOW',
            'TERMINAL_ID_NB_TX_7DAY_WINDOW', 'TERMINAL_ID_RISK_7DAY_WINDOW',
            'TERMINAL_ID_NB_TX_30DAY_WINDOW', 'TERMINAL_ID_RISK_30DAY_WINDOW']


def load(path):
    df = pd.read_csv(path)
    df.columns = [c.upper() for c in df.columns]
    df['TX_DATETIME'] = pd.to_datetime(df['TX_DATETIME'])
    return df


def handbook_features(transactions_df):
    """The handbook's sequence of calls (ch. 3.3), on a frame sorted by TX_DATETIME."""
    transactions_df['TX_DURING_WEEKEND'] = transactions_df.TX_DATETIME.apply(is_weekend)
    transactions_df['TX_DURING_NIGHT'] = transactions_df.TX_DATETIME.apply(is_night)
    transactions_df = transactions_df.groupby('CUSTOMER_ID').apply(
        lambda x: get_customer_spending_behaviour_features(x, windows_size_in_days=[1, 7, 30]))
    transactions_df = transactions_df.sort_values('TX_DATETIME', kind='stable').reset_index(drop=True)
    transactions_df = transactions_df.groupby('TERMINAL_ID').apply(
        lambda x: get_count_risk_rolling_window(x, delay_period=7, windows_size_in_days=[1, 7, 30],
                                                feature="TERMINAL_ID"))
    transactions_df = transactions_df.sort_values('TX_DATETIME', kind='stable').reset_index(drop=True)
    return transactions_df


def main():
    import warnings
    warnings.simplefilter('ignore')
    mode, source = sys.argv[1], sys.argv[2]
    df = load(source)
    start = time.perf_counter()
    out = handbook_features(df)
    seconds = time.perf_counter() - start
    if mode == 'bench':
        print(json.dumps({'rows': len(out), 'seconds': seconds}))
        return
    out = out.sort_values('TRANSACTION_ID', kind='stable')
    out = out[['TRANSACTION_ID'] + FEATURES].rename(columns={'TRANSACTION_ID': 'transaction_id'})
    for c in FEATURES:
        if '_NB_TX_' in c or c.startswith('TX_DURING'):
            out[c] = out[c].astype('int64')
    out.to_csv(sys.argv[3], index=False, float_format='%.9g')


if __name__ == '__main__':
    main()
