"""molprobe.models"""
