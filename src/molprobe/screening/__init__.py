"""molprobe.screening"""
