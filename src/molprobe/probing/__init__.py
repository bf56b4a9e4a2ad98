"""molprobe.probing"""
