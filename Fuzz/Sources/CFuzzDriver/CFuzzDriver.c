// Declarations only (include/CFuzzDriver.h); SwiftPM needs one source file in a C target.
