package scute

import rego.v1

# Each property is decided by one rule: an `else` chain whose first matching branch wins, so
# no two branches can disagree, and a request evaluates only the branches before its own.

needs_update := {"SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
	"TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded"}

default hardware := 97

hardware := 96 if {
	input.debug
} else := 2 if {
	# SEV-SNP: verification proved the chain to AMD's root and that the VCEK/VLEK is AMD's
	# for exactly the reported TCB. AMD publishes no status to rank a TCB, and its KDS
	# certifies old ones too: an operator's minimum (reference value `snp_min_tcb`: objects of
	# SPL values, e.g. {"bootloader": 9, "tee": 0, "snp": 23, "microcode": 213}) marks older
	# TCBs as needing an update. A report from above VMPL 0 (an SVSM's or paravisor's guest
	# OS asking for its own report data) is not the launch-measured firmware speaking.
	input.tee == "snp"
	input.tcb_status == "VekEndorsed"
	input.report.vmpl == 0
	not snp_tcb_below_minimum
} else := 32 if {
	input.tee == "snp"
	input.tcb_status == "VekEndorsed"
	snp_tcb_below_minimum
} else := 32 if {
	input.tee == "snp"
	input.tcb_status == "VekEndorsed"
	input.report.vmpl != 0
} else := 2 if {
	# Hygon CSV has no TCB status: a verified chain is affirming, once its fields are proven.
	input.tee == "csv"
	csv_fields_proven
} else := 32 if {
	input.tee == "csv"
} else := 2 if {
	input.tcb_status == "UpToDate"
} else := 32 if {
	input.tcb_status in needs_update
} else := 96 if {
	input.tcb_status in {"OutOfDate", "OutOfDateConfigurationNeeded"}
}

snp_tcb_below_minimum if {
	some minimum in data.reference.snp_min_tcb
	some component, value in minimum
	input.report.reported_tcb[component] < value
}

# A CSV V1 report signs only its first 0xB4 bytes; the rest is XOR-ed with an anonce the host
# (of a debug guest) can choose, compensated in report_data. The decoded fields, the debug bit
# among them, are proven only when `measure` is one the operator trusts (any XOR pattern
# changes it) or the report is V2 (signed whole).
csv_fields_proven if input.quote_version == 2

csv_fields_proven if {
	input.quote_version == 1
	input.measurements.measure in data.reference.measure
}

# Code identity (README "Code identity"): executables is affirming only when the root of the
# TEE's own measurement chain matches a reference value, and every other measurement that has
# reference values matches one too. The roots: TDX `mr_td`; SGX `mr_enclave`, or `mr_signer`
# with `isv_prod_id` and an `isv_svn` at or above one of `isv_svn_min`; SEV-SNP `measurement`;
# CSV `measure`. RTMRs (any guest can extend them with the digests an honest boot logs) and the
# fields the host or owner chooses at launch never suffice alone; the chosen fields are not
# code at all and are judged by configuration and instance-identity below.
default executables := 33

executables := 2 if {
	code_root
	not code_mismatch
}

code_root if {
	input.tee == "tdx"
	input.measurements.mr_td in data.reference.mr_td
}

code_root if {
	input.tee == "sgx"
	input.measurements.mr_enclave in data.reference.mr_enclave
}

code_root if {
	input.tee == "sgx"
	input.measurements.mr_signer in data.reference.mr_signer
	input.measurements.isv_prod_id in data.reference.isv_prod_id
	some minimum in data.reference.isv_svn_min
	is_number(minimum)
	input.measurements.isv_svn >= minimum
}

code_root if {
	input.tee == "snp"
	input.measurements.measurement in data.reference.measurement
}

code_root if {
	input.tee == "csv"
	input.measurements.measure in data.reference.measure
}

# Fields the host or the guest owner chooses at launch, by the claim they feed. Configuration:
# TDX MRCONFIGID (Confidential Containers' init-data digest) and MROWNERCONFIG, SEV-SNP
# HOST_DATA (init-data digest), SGX CONFIGID. Instance identity: TDX MROWNER, SEV-SNP FAMILY_ID
# and IMAGE_ID (the ID block's names for the guest).
configuration_fields := {"mr_config_id", "mr_owner_config", "host_data", "config_id"}

identity_fields := {"mr_owner", "family_id", "image_id"}

code_mismatch if {
	some name, _ in data.reference
	not name in configuration_fields
	not name in identity_fields
	reference_mismatch(name)
}

# The evidence carries a measurement `name` has reference values for, and it is none of them.
reference_mismatch(name) if {
	value := input.measurements[name]
	values := data.reference[name]
	values
	not value in values
}

default configuration := 2

configuration := 96 if {
	input.debug
} else := 96 if {
	some name in configuration_fields
	reference_mismatch(name)
} else := 32 if {
	contains(input.tcb_status, "Configuration")
}

# Unrecognized (97) when a registered identity field names another instance; with none
# registered, or all matching, the verified chain identifies the instance as before.
default instance_identity := 2

instance_identity := 97 if {
	some name in identity_fields
	reference_mismatch(name)
}

default runtime_opaque := 2

runtime_opaque := 96 if input.debug

trust_vector := {
	"instance-identity": instance_identity,
	"configuration": configuration,
	"executables": executables,
	"hardware": hardware,
	"runtime-opaque": runtime_opaque,
}
