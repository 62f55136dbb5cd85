"""Prefect flows: thin wrappers whose tasks call the stages in pipelines/.

The command line (flows/cli) -> deployments -> the flows (train, score, features) -> tasks -> the Prefect server
(flows/server) -> fixed_cost and defaults; any of them may import pipelines/, which never imports flows/.
"""
