"""The integration API's batch limit, one definition for the API and its clients (the
simulated department systems): how many tasks one ``POST /api/v1/tasks/claims`` or
``POST /api/v1/tasks/completions`` may carry (issue 10; ADR 0024 amendment of session 26).
"""

TASK_BATCH_MAX = 50
