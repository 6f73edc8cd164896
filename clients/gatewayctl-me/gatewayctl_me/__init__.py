"""Employee self-service for the LLM gateway, with nothing but the employee's AWS session.

`contract` names what the reconciler writes and this package reads (secret names, tags); `selfservice`
reads it with the employee's credentials; `cli` is the `gatewayctl` of the small package. The full
gatewayctl (reconciler/selfservice/employee.py) builds on the same modules."""
