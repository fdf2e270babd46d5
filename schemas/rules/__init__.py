"""The domain's rules, one module per concept: what each command decides (``decider`` dispatches), and who may
send it (``authority``). Pure: no I/O, no Temporal, no clock but the ``now`` each rule is given."""
