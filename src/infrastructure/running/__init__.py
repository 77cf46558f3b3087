"""What acts on the world in the background: the job scheduler, the operations reactor
(with its tracked position), leadership (which process runs them: ``leadership.sole`` or
``leadership.postgres``) and the process's health checks."""
