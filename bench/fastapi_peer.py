#!/usr/bin/python3
"""The Python peer of `fraudstream serve`: FastAPI + uvicorn + XGBoost, as the course seeds built it.

  fastapi_peer.py --model-dir DIR --port P [--host 127.0.0.1]

Loads the model artifact's booster (DIR/model.json, XGBoost JSON with feature_names) and its
operating threshold (DIR/fraudstream.json) and serves POST /v1/predict with uvicorn, one worker
(Debian python3-fastapi 0.92 / pydantic 1.10, python3-uvicorn 0.17 on h11 and asyncio: Debian
installs neither uvloop nor httptools with it), and GET /healthz.

Per request, in the seeds' style: pydantic validates the transaction, pandas builds a one-row
DataFrame from it, derives TX_DURING_WEEKEND / TX_DURING_NIGHT from TX_DATETIME
(to_datetime, weekday >= 5, hour <= 6, as the handbook), takes the 12 customer / terminal
window features from the body's "features" object (this peer keeps no window state: the
benchmark body carries the values `fraudstream serve ?explain=true` computed for the same
transaction, so both sides score the same 15 inputs), orders the columns as the booster's
feature_names, and scores an xgboost.DMatrix with Booster.predict (nthread 1: XGBoost's
OpenMP threads busy-wait on a shared 2-core machine). The answer has the fields of ours.

Run with Debian's /usr/bin/python3 (the python3-* packages import only there).
"""
import argparse
import json
import os
from typing import Dict, Optional

import pandas as pd
import uvicorn
import xgboost as xgb
from fastapi import FastAPI
from pydantic import BaseModel


class Transaction(BaseModel):
    transaction_id: int
    tx_datetime: str
    customer_id: int
    terminal_id: int
    tx_amount: float
    tx_time_seconds: Optional[int] = None
    tx_time_days: Optional[int] = None
    dry_run: bool = False
    features: Dict[str, float] = {}


def make_app(model_dir):
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, 'model.json'))
    booster.set_param({'nthread': 1})
    names = booster.feature_names
    manifest = json.load(open(os.path.join(model_dir, 'fraudstream.json')))
    threshold = manifest['threshold']['value']
    version = manifest['model']['booster_checksum']
    model_name = os.path.basename(os.path.normpath(model_dir))
    window_features = [n for n in names if n.startswith(('CUSTOMER_ID_', 'TERMINAL_ID_'))]

    app = FastAPI()

    @app.get('/healthz')
    def healthz():
        return {'status': 'ok'}

    @app.post('/v1/predict')
    def predict(tx: Transaction):
        df = pd.DataFrame([tx.dict(exclude={'features'})])
        df['TX_DATETIME'] = pd.to_datetime(df['tx_datetime'])
        df['TX_AMOUNT'] = df['tx_amount']
        df['TX_DURING_WEEKEND'] = (df['TX_DATETIME'].dt.weekday >= 5).astype(int)
        df['TX_DURING_NIGHT'] = (df['TX_DATETIME'].dt.hour <= 6).astype(int)
        for name in window_features:
            df[name] = tx.features.get(name, 0.0)
        score = float(booster.predict(xgb.DMatrix(df[names]))[0])
        answer = {'transaction_id': tx.transaction_id, 'score': score,
                  'is_fraud': score >= threshold, 'threshold': threshold,
                  'model': model_name, 'model_version': version}
        if tx.dry_run:
            answer['dry_run'] = True
        return answer

    return app


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model-dir', required=True)
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--host', default='127.0.0.1')
    args = ap.parse_args()
    uvicorn.run(make_app(args.model_dir), host=args.host, port=args.port, workers=1,
                log_level='warning', access_log=False)


if __name__ == '__main__':
    main()
