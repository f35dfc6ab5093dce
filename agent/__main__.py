import sys

from agent.cli import run

run()
