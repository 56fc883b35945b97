"""Modelling code behind the dbt Python models (python_models/ml): pure functions on
frames, unit-tested with pytest; the dbt models only read refs and call these."""
