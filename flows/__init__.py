"""Prefect flows: thin wrappers whose tasks call the stages in pipelines/."""
