"""A program that holds MB megabytes (argv[1]) of touched memory, so its
RSS is over memmon's limit, then sleeps."""
import sys
import time

held = b"x" * (int(sys.argv[1]) << 20)
print("holding", len(held), "bytes", flush=True)
while True:
    time.sleep(1000)
