// Sleeper.java: a Java program for the JVM safety rule: prints ready, waits for stdin, prints bye.
// SPDX-License-Identifier: MIT
public class Sleeper {
    public static void main(String[] args) throws Exception {
        System.out.println("ready");
        System.in.read();
        System.out.println("bye");
    }
}
