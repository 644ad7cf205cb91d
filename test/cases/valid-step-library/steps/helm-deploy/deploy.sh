#!/bin/sh
cat "$OTTO_INVOCATION"
