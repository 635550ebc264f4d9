"""The business: is each store's day a normal business day? (core/anomalies.py)"""
