from trifecta.adapters.cli.main import entry

entry()
