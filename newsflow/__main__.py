from newsflow.cli import app

app(prog_name="newsflow")
