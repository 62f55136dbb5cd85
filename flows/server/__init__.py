"""Which Prefect server a command records its flow runs to (`selection`: configured, already running, or a
temporary one started early), the process behind that choice (`process`), and crash detection on a real server.

May import: flows.fixed_cost and pipelines/.
"""
