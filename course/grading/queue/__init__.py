"""Grading past one machine: `course grade --queue` puts one job per submission on a queue in the gradebook's
PostgreSQL database, and `course worker` processes on any number of machines grade them.

The queue is procrastinate's (PostgreSQL only, no other service to run): its jobs, locks, retries and worker
heartbeats. What is the course's own lives in four tables beside it (``tables``): the submissions' files,
content-addressed (``course_queue_blob``); what every job of a lesson in a run shares, the checks computed once
by the instructor's process (``course_queue_settings``); the runs; and one row per job, keyed by a content hash
of the submission, the lesson's release, the seed and the limits (``course_queue_job``), which says whether it
was graded and holds the graded notebooks until the instructor's process writes them out.

- ``fingerprint``: what a release is (the lesson's released files and the ``course`` package), the job keys.
- ``tables``: the course's tables and ``course queue-setup``; clear errors when the queue is missing.
- ``app``: the procrastinate app for a database, the task's name, a release's queue.
- ``enqueue``: reading the class into the database and deferring a job per submission, idempotently.
- ``child``: a child process that grades one job at a time, replaced when it dies or overruns.
- ``task``: what a worker does with one job: claim it, grade it in the child, record it.
- ``recording``: one transaction per result, gradebook and job row together.
- ``worker``: ``course worker``: procrastinate's worker, stalled jobs retried, the database reconnected, jobs
  of another release refused.
- ``status``: ``course grade --status``: progress across workers.
- ``collect``: once every job of a run is done, the graded notebooks, feedback, grades.csv and the report.
- ``run``: ``course grade --queue`` itself: enqueue, wait, collect.
"""
