"""Portfolio impact of a rule-set version, and the change feed after an activation.

- `comparison`: what changes for one business between two versions (service/changes.py's definition);
- `jobs`: impact jobs and their work items in the database: create, claim under a lease, finish, read;
- `runner`: the background task every server process runs, claiming work and evaluating it;
- `views`: the answers of the routes (service/api/routes/impact.py); the change feed's events are read there.
"""
