"""Migration plan and executor: ordered steps with exact argv lists, a journal and backups
under ROOT/var/lib/migrate/RUN_ID/, a marked point of no return, LIFO rollback and resume.

    steps.py     Context (root, target, repos) and build_plan() -> [Step]
    runner.py    Runner interface (argv lists only) and LocalRunner
    journal.py   journal.json, written atomically after every state change
    executor.py  apply / rollback / resume / status
    cli.py       add_plan_parsers(sub), cmd_plan/cmd_apply/cmd_status/cmd_rollback/cmd_resume
"""
