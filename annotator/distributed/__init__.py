"""Running a batch command's per-item job locally or on a Ray cluster.

Layering: ``cli -> distributed -> engine | io``. The commands (``annotator amg``, ``segment``)
describe their work as an `ItemJob` (`jobs`): load the model once, read one item, process it
and write its output. `jobs.run_local` runs it in this process; `ray_runner.run_on_ray` runs
the same job in Ray Data actors. Only `ray_runner` imports Ray, and only when called.
"""
