"""The Sieve language: lexer, parser, checker and interpreter.

Pure Python with no JMAP, Falcon or database imports, so every RFC example
can be run as a plain unit test and a hostile script can be bounded without
a server around it.
"""
