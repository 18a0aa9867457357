//! The SEV-SNP launch digest (`MEASUREMENT`): OVMF's SEV metadata sections and the VMSA of each
//! vCPU, added to the launch digest as AMD's SNP firmware ABI specifies (SNP_LAUNCH_UPDATE's
//! PAGE_INFO chain).
