"""Data validation to the TFX standard: statistics, schema, anomalies, drift and skew."""
