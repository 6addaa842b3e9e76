"""The `hwsearch` command line, one module per command group.

local.py    train, eval, sample, export, run   (this machine; no service)
hardware.py estimate, confirm, synth           (analytic model, Verilator, Yosys)
db.py       db upgrade, db current
keys.py     keys create, keys list, keys revoke
server.py   worker, serve, api, dashboard
client.py   submit, status, cancel             (a running service, over HTTP)
"""

import typer

from service.cli import client, db, hardware, keys, local, server

app = typer.Typer(
    help="Hardware-aware sparsity and quantization search for dataflow FPGA accelerators.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

app.command()(local.train)
app.command("eval")(local.evaluate)
app.command()(local.sample)
app.command()(local.export)
app.command()(local.run)
app.command()(hardware.estimate)
app.command()(hardware.confirm)
app.command()(hardware.synth)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.command()(server.worker)
app.command()(server.serve)
app.command()(server.api)
app.command()(server.dashboard)
app.command()(client.submit)
app.command()(client.status)
app.command()(client.cancel)


def main() -> None:
    app()
