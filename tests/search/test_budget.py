import multiprocessing as mp

from search.budget import LocalBudget


def _drain(budget, claimed):
    while budget.claim():
        with claimed.get_lock():
            claimed.value += 1


def test_local_budget_hands_out_exactly_n_slots_across_processes():
    context = mp.get_context("spawn")
    budget, claimed = LocalBudget(200, context=context), context.Value("i", 0)
    workers = [context.Process(target=_drain, args=(budget, claimed)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert claimed.value == 200 and not budget.claim()


def test_released_slot_is_claimed_again():
    budget = LocalBudget(1)
    assert budget.claim() and not budget.claim()
    budget.release()
    assert budget.claim()


def test_already_complete_trials_count_against_the_budget():
    assert LocalBudget(10, already_complete=10).remaining == 0
