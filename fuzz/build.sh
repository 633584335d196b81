#!/bin/sh
# Builds the libFuzzer targets for the MedicalImage readers (not part of CI):
#   fuzz/build.sh            → fuzz/.build/fuzz-nifti, fuzz/.build/fuzz-dicom
#   fuzz/run.sh SECONDS      → runs both from the committed fixtures as seed corpus
# MedicalImage is compiled with coverage (-sanitize=fuzzer) and AddressSanitizer, and with -O so
# Swift's overflow and bounds checks stay on: a trap is a crash libFuzzer reports.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/fuzz/.build
mkdir -p "$B"
SAN="-sanitize=fuzzer,address -O -g"
INC="-I $B -I $ROOT/Sources/CZlib -I $ROOT/Sources/CPNG -Xcc -I/usr/include/libpng16"
cd "$B"
swiftc $SAN -parse-as-library -module-name Support -emit-module -emit-library -static \
    -o libSupport.a "$ROOT"/Sources/Support/*.swift
swiftc $SAN $INC -parse-as-library -module-name MedicalImage -emit-module -emit-library -static \
    -o libMedicalImage.a "$ROOT"/Sources/MedicalImage/*.swift
for t in NIfTI DICOM; do
    lower=$(echo $t | tr A-Z a-z)
    swiftc $SAN $INC -parse-as-library "$ROOT/fuzz/${t}Fuzz.swift" libMedicalImage.a libSupport.a \
        -lz -lpng16 -o "fuzz-$lower" 2>&1 | grep -v "Cannot export local symbol" || true
done
echo "built $B/fuzz-nifti $B/fuzz-dicom"
