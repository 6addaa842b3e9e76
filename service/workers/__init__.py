"""Workers: `hwsearch worker --db URL` on any machine, any number of them.

A worker registers a row, heartbeats it from a thread, and loops: claim the next piece of work
(`service.crud.next_work`), run that phase of the job (`search.phases`), record the outcome.

    runner.py             the loop (`Worker`) and what each kind of work does
    budget.py             `DbTrialBudget`, the database `search.TrialBudget`
    heartbeat.py          the heartbeat thread
    confirmation_task.py  one RTL confirmation task (`search.confirm_trial`, if this build has it)
    retry.py              retrying short transactions on transient database errors
"""
