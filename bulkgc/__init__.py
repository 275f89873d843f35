"""bulkgc: push Game Center achievements and leaderboards, their localizations and icons to App Store Connect in bulk."""

__version__ = "0.1.0"
