//! The SLRT backend's wire contracts: event payloads (published on the Kafka log inside an
//! [`common::v1::EventEnvelope`]) and gRPC services, generated from `proto/slrt/**.proto`.
//!
//! Generated code lives in OUT_DIR and is never committed; the .proto files are the source.

#![expect(clippy::all, reason = "generated code is not ours to lint")]

/// Encoded `FileDescriptorSet` of every .proto file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/slrt_descriptor.bin"));

pub mod common {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/slrt.common.v1.rs"));
    }
}

pub mod intake {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/slrt.intake.v1.rs"));
    }
}

pub mod eligibility {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/slrt.eligibility.v1.rs"));
    }
}

pub mod referral {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/slrt.referral.v1.rs"));
    }
}

pub mod disbursement {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/slrt.disbursement.v1.rs"));
    }
}

pub mod bank {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/slrt.bank.v1.rs"));
    }
}
