"""molprobe.reporting"""
