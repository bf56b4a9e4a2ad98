"""molprobe.dynamics"""
