"""The window's widgets: canvas, panels, candidate bar, status bar, dialogs, help."""
