"""The deployments' defaults, written once: `devicepipe serve`'s options (flows/cli/serve.py) and the deployments it
serves (flows/deployments.py) take them from here, and tests/flows/test_deployments.py checks prefect.yaml against
the deployments. Importing this module imports nothing (the command line starts fast)."""

TRAIN_CRON = "0 2 * * *"  # the train deployment: nightly at 02:00
SCORE_INTERVAL = 3600  # the score deployment: every hour (seconds; 0: only when triggered)
SCORE_DATA = "data/raw/flights.parquet"  # what the score deployment scores
RUN_LIMIT = 1  # most served runs at once: one per GPU is safe
TUNE_CRON = "0 3 * * 0"  # the tune deployment: weekly, Sundays at 03:00 (the nightly train then takes its settings)
TUNE_TRIALS = 50  # its trials per family
TUNE_MODELS = ("xgboost",)  # the families it tunes
TUNE_STUDY = "weekly"  # its studies: weekly-<the features' fingerprint>, a new one when the data change
