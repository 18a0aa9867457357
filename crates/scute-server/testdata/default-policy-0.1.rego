package scute

import rego.v1

needs_update := {"SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
	"TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded"}

default hardware := 97

hardware := 2 if {
	input.tcb_status == "UpToDate"
	not input.debug
}

hardware := 32 if {
	input.tcb_status in needs_update
	not input.debug
}

hardware := 96 if input.tcb_status in {"OutOfDate", "OutOfDateConfigurationNeeded"}

# SEV-SNP: verification proved the chain to AMD's root and that the VCEK/VLEK is AMD's for
# exactly the reported TCB. AMD publishes no status to rank a TCB, and its KDS certifies old
# ones too: an operator's minimum (reference value `snp_min_tcb`: objects of SPL values, e.g.
# {"bootloader": 9, "tee": 0, "snp": 23, "microcode": 213}) marks older TCBs as needing an
# update. A report from above VMPL 0 (an SVSM's or paravisor's guest OS asking for its own
# report data) is not the launch-measured firmware speaking: not affirming.
snp_tcb_below_minimum if {
	some minimum in data.reference.snp_min_tcb
	some component, value in minimum
	input.report.reported_tcb[component] < value
}

hardware := 2 if {
	input.tee == "snp"
	input.tcb_status == "VekEndorsed"
	input.report.vmpl == 0
	not snp_tcb_below_minimum
	not input.debug
}

hardware := 32 if {
	input.tee == "snp"
	input.tcb_status == "VekEndorsed"
	not input.debug
	snp_tcb_below_minimum
}

hardware := 32 if {
	input.tee == "snp"
	input.tcb_status == "VekEndorsed"
	not input.debug
	not snp_tcb_below_minimum
	input.report.vmpl != 0
}

# Hygon CSV has no TCB status: a verified chain is affirming unless the guest is debug. A V1
# report signs only its first 0xB4 bytes; the rest is XOR-ed with an anonce the host (of a
# debug guest) can choose, compensated in report_data. The decoded fields, the debug bit among
# them, are proven only when `measure` is one the operator trusts (any XOR pattern changes it)
# or the report is V2 (signed whole).
csv_fields_proven if input.quote_version == 2

csv_fields_proven if {
	input.quote_version == 1
	input.measurements.measure in data.reference.measure
}

hardware := 2 if {
	input.tee == "csv"
	csv_fields_proven
	not input.debug
}

hardware := 32 if {
	input.tee == "csv"
	not csv_fields_proven
	not input.debug
}

hardware := 96 if input.debug

# Measurements that have reference values.
checked contains name if {
	input.measurements[name]
	data.reference[name]
}

default executables := 33

executables := 2 if {
	count(checked) > 0
	every name in checked {
		input.measurements[name] in data.reference[name]
	}
}

default configuration := 2

configuration := 32 if {
	contains(input.tcb_status, "Configuration")
	not input.debug
}

configuration := 96 if input.debug

default runtime_opaque := 2

runtime_opaque := 96 if input.debug

trust_vector := {
	"instance-identity": 2,
	"configuration": configuration,
	"executables": executables,
	"hardware": hardware,
	"runtime-opaque": runtime_opaque,
}
